tofu import kplane_user.app demo/dev/app
