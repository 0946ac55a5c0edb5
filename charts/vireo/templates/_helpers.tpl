{{/* The release's full name: the release name, with the chart name unless it already has it. */}}
{{- define "vireo.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "vireo.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "vireo.labels" -}}
{{ include "vireo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vireo
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "vireo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vireo.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository:tag, the tag defaulting to the chart's appVersion. Call with an image values map and the root. */}}
{{- define "vireo.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{/* The injector's settings as the controller's --injection-config JSON (src/config/config.ts). */}}
{{- define "vireo.injectionConfig" -}}
{{- $i := .Values.injection -}}
{{- $xds := default (printf "%s.%s.svc:%v" (include "vireo.fullname" .) .Release.Namespace .Values.xdsPort) $i.xdsAddress -}}
{{- dict "proxyImage" (include "vireo.image" (dict "image" .Values.proxy.image "root" .)) "proxyImagePullPolicy" .Values.proxy.image.pullPolicy "xdsAddress" $xds "logLevel" $i.logLevel "resources" $i.resources "version" .Chart.AppVersion "excludeInboundPorts" $i.excludeInboundPorts "excludeOutboundPorts" $i.excludeOutboundPorts "excludeOutboundIPRanges" $i.excludeOutboundIPRanges | toJson -}}
{{- end -}}
