"""The local Kubernetes substrate: etcd, kube-apiserver and kube-controller-manager built from
source (build.sh, cached under ~/.cache/kplane/kube/v<version>), started on loopback with a
throwaway CA, plus the devstack pod runner as the node.

    from devstack.kube import KubeSubstrate
    with KubeSubstrate(workdir) as kube:
        api = kube.api_client()   # kubernetes.client.ApiClient (admin)
"""

from devstack.kube.binaries import KUBE_VERSION
from devstack.kube.substrate import KubeSubstrate, SubstrateBusy, SubstrateError

__all__ = ["KUBE_VERSION", "KubeSubstrate", "SubstrateBusy", "SubstrateError"]
