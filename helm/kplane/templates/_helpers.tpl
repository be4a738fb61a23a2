{{/* Names, labels and the pieces every kplane pod shares. */}}

{{- define "kplane.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kplane.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The ServiceAccount of the API, beat and migration pods: no Kubernetes API access. */}}
{{- define "kplane.appServiceAccount" -}}
{{- include "kplane.fullname" . -}}
{{- end -}}

{{/* The ServiceAccount of the workers, bound to the least privileges they need. */}}
{{- define "kplane.workerServiceAccount" -}}
{{- printf "%s-worker" (include "kplane.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kplane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kplane.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "kplane.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kplane
{{- end -}}

{{- define "kplane.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "kplane.brokerImage" -}}
{{- printf "%s:%s" .Values.brokerImage.repository .Values.brokerImage.tag -}}
{{- end -}}

{{/*
The environment of every kplane process. Credentials come only from the Secret (secretKeyRef):
nothing secret is ever rendered into a manifest.
*/}}
{{- define "kplane.env" -}}
- name: KPLANE_ENVIRONMENT
  value: {{ .Values.environment | quote }}
- name: KPLANE_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- range $var, $key := dict "KPLANE_DATABASE_URL" .Values.secret.keys.databaseUrl "KPLANE_REDIS_URL" .Values.secret.keys.redisUrl "KPLANE_ADMIN_TOKEN" .Values.secret.keys.adminToken "KPLANE_SECRET_KEY" .Values.secret.keys.secretKey "KPLANE_PASSWORD_ENCRYPTION_KEY" .Values.secret.keys.passwordEncryptionKey }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secret.name }}
      key: {{ $key }}
{{- end }}
{{- /* Set only when the oldest password-encryption key is to be dropped (docs/operations.md). */}}
- name: KPLANE_BROKER_CREDENTIAL_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secret.name }}
      key: {{ .Values.secret.keys.brokerCredentialKey }}
      optional: true
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
The workers' own settings (workers/config.py, prefix KPLANE_WORKER_). In the cluster they reach
brokers by Service DNS name, so they never read Endpoints (not in the RBAC rules). Each
cluster's broker image is the repository tagged with its Kafka version; the default reference
is exported for information.
*/}}
{{- define "kplane.workerEnv" -}}
- name: KPLANE_WORKER_BROKER_IMAGE
  value: {{ .Values.brokerImage.repository | quote }}
- name: KPLANE_WORKER_BROKER_DEFAULT_IMAGE
  value: {{ include "kplane.brokerImage" . | quote }}
- name: KPLANE_WORKER_BROKER_ADDRESS
  value: dns
- name: KPLANE_WORKER_CLUSTER_DOMAIN
  value: {{ .Values.clusterDomain | quote }}
{{- end -}}

{{/* Pod-level fields shared by every kplane pod. */}}
{{- define "kplane.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* Scheduling fields of one component (.component is api, worker or beat). */}}
{{- define "kplane.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A writable /tmp: the root filesystem is read-only. */}}
{{- define "kplane.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "kplane.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{/* Cluster-scoped names carry the namespace: two releases of the same name must not clash. */}}
{{- define "kplane.clusterRoleName" -}}
{{- printf "%s-%s-worker" .Release.Namespace (include "kplane.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
