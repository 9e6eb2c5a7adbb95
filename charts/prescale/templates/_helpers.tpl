{{/* Labels of every object: the kustomize base's, and Helm's. */}}
{{- define "prescale.labels" -}}
app.kubernetes.io/name: prescale
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "prescale.files" -}}
{{- has .Values.policies.source (list "files" "both") -}}
{{- end -}}

{{- define "prescale.crd" -}}
{{- has .Values.policies.source (list "crd" "both") -}}
{{- end -}}
