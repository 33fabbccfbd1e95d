{{/*
Helpers for the clusterip-guard chart. All names are prefixed "clusterip-guard." so they cannot
collide with a parent chart's helpers, and every generated object name is cut to 63 characters
(DNS label limit; the Service name becomes part of the webhook's DNS name).
*/}}

{{/* Chart name, overridable. */}}
{{- define "clusterip-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name: "<release>-<chart>", or just the release name when it already contains the chart name
(so `helm install clusterip-guard ...` gives "clusterip-guard", not "clusterip-guard-clusterip-guard").
*/}}
{{- define "clusterip-guard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
A name derived from the full name with a suffix; the full name is shortened first so the suffix
survives the 63-character cut. Call with (list $ "suffix").
*/}}
{{- define "clusterip-guard.suffixedName" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $base := include "clusterip-guard.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" -}}
{{- printf "%s-%s" $base $suffix -}}
{{- end -}}

{{/* "name-version" for the helm.sh/chart label ("+" is not allowed in label values). */}}
{{- define "clusterip-guard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels selecting the webhook pods. Never change these after an install: selectors are immutable. */}}
{{- define "clusterip-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "clusterip-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "clusterip-guard.labels" -}}
helm.sh/chart: {{ include "clusterip-guard.chart" . }}
{{ include "clusterip-guard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: clusterip-guard
{{- end -}}

{{/* ServiceAccount the pods run as. */}}
{{- define "clusterip-guard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "clusterip-guard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image reference: digest wins over tag; tag defaults to appVersion. */}}
{{- define "clusterip-guard.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* True (non-empty) when pods, Service and RBAC are rendered, i.e. the webhook runs in the cluster. */}}
{{- define "clusterip-guard.inCluster" -}}
{{- if ne .Values.tls.mode "url" -}}true{{- end -}}
{{- end -}}

{{/* Secret holding tls.crt / tls.key for the pods. */}}
{{- define "clusterip-guard.tlsSecretName" -}}
{{- if .Values.tls.secret.name -}}
{{- .Values.tls.secret.name -}}
{{- else -}}
{{- include "clusterip-guard.suffixedName" (list . "tls") -}}
{{- end -}}
{{- end -}}

{{/* cert-manager object names. */}}
{{- define "clusterip-guard.selfSignedIssuerName" -}}
{{- include "clusterip-guard.suffixedName" (list . "selfsigned") -}}
{{- end -}}
{{- define "clusterip-guard.caName" -}}
{{- include "clusterip-guard.suffixedName" (list . "ca") -}}
{{- end -}}
{{- define "clusterip-guard.servingCertName" -}}
{{- include "clusterip-guard.suffixedName" (list . "serving") -}}
{{- end -}}

{{/* DNS names the API server uses for the webhook Service. */}}
{{- define "clusterip-guard.serviceDNSNames" -}}
{{- $svc := include "clusterip-guard.fullname" . -}}
- {{ printf "%s.%s.svc" $svc .Release.Namespace }}
- {{ printf "%s.%s.svc.%s" $svc .Release.Namespace .Values.clusterDomain }}
{{- end -}}

{{/*
Checks that span several values. JSON Schema cannot say "required in this mode" with a message a
person can act on, so these fail the render with one.
*/}}
{{- define "clusterip-guard.validateValues" -}}
{{- $tls := .Values.tls -}}
{{- if has $tls.mode (list "secret" "url") -}}
  {{- if not $tls.caBundle -}}
    {{- fail (printf "tls.caBundle is required when tls.mode=%s: set it to the base64 of the PEM CA certificate that signed the webhook's serving certificate (certs/make-certs.sh prints it)" $tls.mode) -}}
  {{- end -}}
  {{- if not (contains "-----BEGIN CERTIFICATE-----" (b64dec $tls.caBundle)) -}}
    {{- fail "tls.caBundle must be base64 of one or more PEM certificates (\"-----BEGIN CERTIFICATE-----\"), e.g. base64 -w0 ca.crt; it did not decode to one" -}}
  {{- end -}}
{{- end -}}
{{- if eq $tls.mode "secret" -}}
  {{- if not $tls.secret.name -}}
    {{- fail (printf "tls.secret.name is required when tls.mode=secret: the name of a kubernetes.io/tls Secret in namespace %s holding tls.crt and tls.key (certs/make-certs.sh prints the kubectl command that creates it)" .Release.Namespace) -}}
  {{- end -}}
{{- end -}}
{{- if eq $tls.mode "url" -}}
  {{- if not $tls.url.host -}}
    {{- fail "tls.url.host is required when tls.mode=url: the host name or IP address where the API server reaches the webhook running outside the cluster (e.g. 127.0.0.1)" -}}
  {{- end -}}
{{- end -}}
{{- if eq $tls.mode "certManager" -}}
  {{- if $tls.caBundle -}}
    {{- fail "tls.caBundle must be empty when tls.mode=certManager: cert-manager's CA injector writes the caBundle; set tls.mode=secret to supply your own" -}}
  {{- end -}}
{{- end -}}
{{- end -}}

{{/* Namespaces whose Services are never sent to the webhooks. */}}
{{- define "clusterip-guard.excludedNamespaces" -}}
{{- $ns := concat (list .Release.Namespace "kube-system") .Values.webhooks.excludeNamespaces | uniq -}}
{{- toYaml $ns -}}
{{- end -}}

{{/*
Fields shared by every webhook entry. Call with (dict "root" $ "path" "/mutate" "settings"
.Values.webhooks.mutating).
*/}}
{{- define "clusterip-guard.webhookCommon" -}}
{{- $root := .root -}}
{{- $values := $root.Values -}}
admissionReviewVersions: ["v1"]
sideEffects: None
matchPolicy: Equivalent
failurePolicy: {{ .settings.failurePolicy }}
timeoutSeconds: {{ .settings.timeoutSeconds }}
clientConfig:
  {{- if eq $values.tls.mode "url" }}
  url: {{ printf "https://%s:%d%s" $values.tls.url.host (int $values.tls.url.port) .path | quote }}
  {{- else }}
  service:
    name: {{ include "clusterip-guard.fullname" $root }}
    namespace: {{ $root.Release.Namespace }}
    path: {{ .path }}
    port: {{ $values.service.port }}
  {{- end }}
  {{- if ne $values.tls.mode "certManager" }}
  caBundle: {{ $values.tls.caBundle }}
  {{- end }}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- include "clusterip-guard.excludedNamespaces" $root | nindent 8 }}
{{- with $values.webhooks.objectSelector }}
objectSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Admission rules. Services are namespaced core/v1; the Calico kinds are cluster-scoped and exist in
two groups: crd.projectcalico.org/v1 (CRDs served by kube-apiserver, no Calico validation) and
projectcalico.org/v3 (served by calico-apiserver, which runs the webhooks itself). One rule per
group, so no group is paired with the other's version. Call with a list of Calico resources.
*/}}
{{/* DELETE rules for the Calico kinds whose removal can cut traffic (validating webhook only). */}}
{{- define "clusterip-guard.deleteRules" -}}
- apiGroups: ["crd.projectcalico.org"]
  apiVersions: ["v1"]
  resources: {{ toJson . }}
  operations: ["DELETE"]
  scope: Cluster
- apiGroups: ["projectcalico.org"]
  apiVersions: ["v3"]
  resources: {{ toJson . }}
  operations: ["DELETE"]
  scope: Cluster
{{- end -}}

{{- define "clusterip-guard.rules" -}}
- apiGroups: [""]
  apiVersions: ["v1"]
  resources: ["services"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["crd.projectcalico.org"]
  apiVersions: ["v1"]
  resources: {{ toJson . }}
  operations: ["CREATE", "UPDATE"]
  scope: Cluster
- apiGroups: ["projectcalico.org"]
  apiVersions: ["v3"]
  resources: {{ toJson . }}
  operations: ["CREATE", "UPDATE"]
  scope: Cluster
{{- end -}}

{{/* cert-manager CA injection (certManager mode only). */}}
{{- define "clusterip-guard.webhookAnnotations" -}}
{{- if eq .Values.tls.mode "certManager" -}}
cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "clusterip-guard.servingCertName" .) }}
{{- end -}}
{{- end -}}

{{/*
The webhook's config: .Values.config with the `audit` section filled in from the audit values
(the Lease lives in the release namespace); keys the user set under config.audit win.
*/}}
{{- define "clusterip-guard.config" -}}
{{- $a := .Values.audit -}}
{{- $audit := dict "reports" (and $a.reports .Values.clusterState.enabled) "debounceSeconds" $a.debounceSeconds "intervalSeconds" $a.intervalSeconds "writesPerSecond" $a.writesPerSecond "writeBurst" $a.writeBurst "lease" (dict "namespace" .Release.Namespace "durationSeconds" $a.leaseDurationSeconds) -}}
{{- $config := deepCopy .Values.config -}}
{{- $_ := set $config "audit" (mergeOverwrite $audit (get $config "audit" | default dict)) -}}
{{- toYaml $config -}}
{{- end -}}

{{/* True when this release writes reports (and so needs the write RBAC). */}}
{{- define "clusterip-guard.writesReports" -}}
{{- if and .Values.audit.reports .Values.clusterState.enabled -}}true{{- end -}}
{{- end -}}
