data "kplane_consumer_groups" "dev" {
  cluster_id = "dev"
}

output "lagging_groups" {
  value = [for g in data.kplane_consumer_groups.dev.consumer_groups : g.group_id if g.max_lag > 1000]
}
