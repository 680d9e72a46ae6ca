{{/* Chart name, truncated to the DNS label limit. */}}
{{- define "gatehouse.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name of every object. */}}
{{- define "gatehouse.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gatehouse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "gatehouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "gatehouse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "gatehouse.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "gatehouse.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{/* "true" when the release runs on PostgreSQL. */}}
{{- define "gatehouse.postgres" -}}
{{- if or .Values.database.url .Values.database.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* The Secret holding SECRET_KEY. */}}
{{- define "gatehouse.secretKeySecret" -}}
{{- default (printf "%s-secret-key" (include "gatehouse.fullname" .)) .Values.secretKey.existingSecret -}}
{{- end -}}

{{/* The Secret the chart creates for URLs given as values. */}}
{{- define "gatehouse.urlSecret" -}}
{{- printf "%s-urls" (include "gatehouse.fullname" .) -}}
{{- end -}}

{{/*
Refuse settings that would be insecure or broken, with a message that says
what to set. Included by the Deployment, so nothing renders without it.
*/}}
{{- define "gatehouse.validate" -}}
{{- $s := .Values.secretKey -}}
{{- if not (or $s.existingSecret $s.value $s.generate) -}}
{{- fail "secretKey: set secretKey.existingSecret to a Secret holding SECRET_KEY (create one with: kubectl create secret generic gatehouse-secret-key --from-literal=key=$(openssl rand -hex 32)), or secretKey.value, or secretKey.generate=true" -}}
{{- end -}}
{{- if eq $s.value "<randomly generated secret key>" -}}
{{- fail "secretKey.value: this is the placeholder, not a key" -}}
{{- end -}}
{{- if and $s.value (lt (len $s.value) 32) -}}
{{- fail "secretKey.value: shorter than 32 characters; make one with `gatehouse generate-secret` or `openssl rand -hex 32`" -}}
{{- end -}}
{{- if not .Values.siteUrl -}}
{{- fail "siteUrl: set the public https:// URL of this instance (SITE_URL), e.g. --set siteUrl=https://auth.example.com" -}}
{{- end -}}
{{- if and .Values.secureCookies (hasPrefix "http://" .Values.siteUrl) -}}
{{- fail "siteUrl: is http:// while secureCookies is on: browsers would drop the session cookie; serve over https" -}}
{{- end -}}
{{- if and .Values.proxy.isBehindProxy (not .Values.proxy.trustedProxies) (not .Values.proxy.trustAllProxies) -}}
{{- fail "proxy.trustedProxies: with proxy.isBehindProxy, list the addresses or CIDR blocks of your ingress controller / load balancer (e.g. 10.42.0.0/16), or set proxy.isBehindProxy=false when clients connect directly" -}}
{{- end -}}
{{- if not (include "gatehouse.postgres" .) -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled -}}
{{- fail "database: more than one replica (replicaCount > 1 or autoscaling) needs PostgreSQL: set database.existingSecret or database.url; SQLite is a single-writer file" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.email.useTLS .Values.email.useSSL -}}
{{- fail "email: useTLS (STARTTLS) and useSSL (implicit TLS) are mutually exclusive" -}}
{{- end -}}
{{- end -}}
