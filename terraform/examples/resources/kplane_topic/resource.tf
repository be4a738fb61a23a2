resource "kplane_topic" "orders" {
  cluster_id         = "dev"
  topic_id           = "orders"
  partition_count    = 6 # may only grow
  replication_factor = 3 # immutable: a change replaces the topic
  configs = {
    "retention.ms"        = "604800000"
    "min.insync.replicas" = "2"
  }
  labels = { team = "payments" }
}
