data "kplane_topics" "payments" {
  cluster_id = "dev"
  filter     = "labels.team = \"payments\""
}

output "payment_topics" {
  value = [for t in data.kplane_topics.payments.topics : t.topic_id]
}
