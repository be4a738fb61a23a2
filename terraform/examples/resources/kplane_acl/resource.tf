resource "kplane_acl" "orders" {
  cluster_id = "dev"
  acl_id     = "topic/orders"
  acl_entries = [
    { principal = "User:app", operation = "WRITE" },
    { principal = "User:reporting", operation = "READ" },
    { principal = "User:*", operation = "DESCRIBE", permission_type = "ALLOW", host = "*" },
  ]
}
