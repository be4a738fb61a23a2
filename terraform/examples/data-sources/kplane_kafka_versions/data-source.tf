data "kplane_kafka_versions" "all" {}

output "default_kafka_version" {
  value = data.kplane_kafka_versions.all.default_version
}
