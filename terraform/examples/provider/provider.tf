terraform {
  required_providers {
    kplane = { source = "kplane/kplane" }
  }
}

# endpoint and token default to KPLANE_ENDPOINT / KPLANE_TOKEN
provider "kplane" {
  endpoint = "http://127.0.0.1:8080"
  project  = "demo" # default project_id of every resource
}
