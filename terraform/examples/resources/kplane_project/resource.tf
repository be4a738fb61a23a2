# needs the admin token
resource "kplane_project" "demo" {
  project_id   = "demo"
  display_name = "Demo"
}
