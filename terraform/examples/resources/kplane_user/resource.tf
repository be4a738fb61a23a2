variable "app_password" {
  type      = string
  sensitive = true
}

# a password you choose, never stored in state; bump the version to rotate it
resource "kplane_user" "app" {
  cluster_id          = "dev"
  user_id             = "app"
  password_wo         = var.app_password
  password_wo_version = 1
  quotas              = { producer_byte_rate = 1048576 }
}

# or a password the API generates, exposed once as the sensitive `password`
resource "kplane_user" "reporting" {
  cluster_id = "dev"
  user_id    = "reporting"
}
