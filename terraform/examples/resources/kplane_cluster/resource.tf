resource "kplane_cluster" "dev" {
  cluster_id       = "dev"
  broker_count     = 3
  controller_count = 3 # immutable
  broker_resources = { cpu = 1, memory_gib = 2 }
  storage_gib      = 100 # may only grow
  config = {
    "auto.create.topics.enable" = "false"
  }
  maintenance_window = { day_of_week = "SUNDAY", start_time = "03:00", duration_hours = 4 }
  timeouts           = { create = "30m", update = "60m" }
}
