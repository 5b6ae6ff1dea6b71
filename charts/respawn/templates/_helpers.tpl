{{/* Names, labels, image references and the TLS material shared by the templates. */}}

{{- define "respawn.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "respawn.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "respawn.selectorLabels" -}}
app.kubernetes.io/name: {{ include "respawn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "respawn.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "respawn.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: admission-webhook
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "respawn.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "respawn.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An image reference from {repository, tag, digest}; call with (list $ .Values.image). */}}
{{- define "respawn.image" -}}
{{- $root := index . 0 -}}
{{- $img := index . 1 -}}
{{- $repo := $img.repository -}}
{{- with $root.Values.imageRegistry }}{{ $repo = printf "%s/%s" (trimSuffix "/" .) $repo }}{{ end -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $repo $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default $root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{- define "respawn.tlsSecretName" -}}
{{- if and (eq (include "respawn.tlsMode" .) "provided") .Values.tls.existingSecret -}}
{{- .Values.tls.existingSecret -}}
{{- else -}}
{{- printf "%s-tls" (include "respawn.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The effective TLS mode: auto becomes certManager when the cluster serves cert-manager.io/v1. */}}
{{- define "respawn.tlsMode" -}}
{{- $mode := .Values.tls.mode -}}
{{- if not (has $mode (list "auto" "certManager" "helm" "provided")) -}}
{{- fail (printf "tls.mode must be one of auto, certManager, helm, provided (got %q)" $mode) -}}
{{- end -}}
{{- if eq $mode "auto" -}}
{{- if .Capabilities.APIVersions.Has "cert-manager.io/v1/Certificate" }}certManager{{ else }}helm{{ end -}}
{{- else -}}
{{- $mode -}}
{{- end -}}
{{- end -}}

{{/*
helm mode: the CA and serving certificate, generated once per render and memoised in .Values so the
Secret and the webhook configuration agree. Reuses the Secret already in the cluster (lookup) so an
upgrade keeps the same certificates; `helm template` cannot look up and generates new ones.
*/}}
{{- define "respawn.helmTLS" -}}
{{- if not (hasKey .Values "__respawnTLS") -}}
{{- $name := printf "%s-tls" (include "respawn.fullname" .) -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $name -}}
{{- $tls := dict -}}
{{- if and $existing (index ($existing.data | default dict) "ca.crt") -}}
{{- $_ := set $tls "ca" (index $existing.data "ca.crt") -}}
{{- $_ := set $tls "crt" (index $existing.data "tls.crt") -}}
{{- $_ := set $tls "key" (index $existing.data "tls.key") -}}
{{- else -}}
{{- $svc := include "respawn.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $days := int .Values.tls.validityDays -}}
{{- $ca := genCA (printf "%s-ca" $svc) $days -}}
{{- $dns := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- $cert := genSignedCert (printf "%s.%s.svc" $svc $ns) nil $dns $days $ca -}}
{{- $_ := set $tls "ca" ($ca.Cert | b64enc) -}}
{{- $_ := set $tls "crt" ($cert.Cert | b64enc) -}}
{{- $_ := set $tls "key" ($cert.Key | b64enc) -}}
{{- end -}}
{{- $_ := set .Values "__respawnTLS" $tls -}}
{{- end -}}
{{- end -}}

{{/* The caBundle (base64 PEM) for the webhook configuration; empty in certManager mode. */}}
{{- define "respawn.caBundle" -}}
{{- $mode := include "respawn.tlsMode" . -}}
{{- if eq $mode "helm" -}}
{{- include "respawn.helmTLS" . -}}
{{- index .Values.__respawnTLS "ca" -}}
{{- else if eq $mode "provided" -}}
{{- required "tls.mode=provided needs tls.caBundle (PEM of the CA that signed the serving certificate)" .Values.tls.caBundle | b64enc -}}
{{- end -}}
{{- end -}}

{{/* Namespaces the webhook never touches. */}}
{{- define "respawn.excludedNamespaces" -}}
{{- $ns := list "kube-system" "kube-public" "kube-node-lease" .Release.Namespace -}}
{{- concat $ns .Values.webhook.excludeNamespaces | uniq | toJson -}}
{{- end -}}
