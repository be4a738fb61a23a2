tofu import kplane_cluster.dev demo/dev
