data "kplane_cluster" "dev" {
  cluster_id = "dev"
}

output "bootstrap_servers" {
  value = data.kplane_cluster.dev.bootstrap_servers
}
