tofu import kplane_project.demo demo
