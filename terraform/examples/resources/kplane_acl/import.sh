# the acl_id is the resource pattern and may contain "/"
tofu import kplane_acl.orders projects/demo/clusters/dev/acls/topic/orders
tofu import kplane_acl.orders demo/dev/topic/orders
