# the API path, or its short form project/cluster/topic
tofu import kplane_topic.orders projects/demo/clusters/dev/topics/orders
tofu import kplane_topic.orders demo/dev/orders
