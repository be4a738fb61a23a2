resource "kplane_token" "ci" {
  token_id = "ci"
  role     = "editor"
}

output "ci_token" {
  value     = kplane_token.ci.secret
  sensitive = true
}
