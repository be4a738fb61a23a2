# the secret is not readable after creation: it is null in an imported state
tofu import kplane_token.ci demo/ci
