"""The devstack pod runner: the one node of the local Kubernetes substrate.

It registers a Node, binds pending pods to it, and runs each pod's containers as local
processes inside the pod's own network namespace, with probes, restart policy, graceful
deletion and persistent volumes. See runner.py for the process, pod.py for one pod's life.
"""
