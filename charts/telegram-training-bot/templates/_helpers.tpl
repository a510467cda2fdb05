{{/*
Helpers of the telegram-training-bot chart. Each has a doc comment saying what it returns.
*/}}

{{/*
trainingbot.name: the chart name, or nameOverride; a DNS label (63 characters).
*/}}
{{- define "trainingbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
trainingbot.fullname: the base name of the release's resources. fullnameOverride wins; else
"<release>-<name>", or just the release name when it already contains the chart name. Kept
to 52 characters so that suffixes such as "-operator" stay within a label value's 63.
*/}}
{{- define "trainingbot.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "trainingbot.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
trainingbot.operator.fullname: the name of the operator's Deployment, Service and RBAC objects.
*/}}
{{- define "trainingbot.operator.fullname" -}}
{{- printf "%s-operator" (include "trainingbot.fullname" .) -}}
{{- end -}}

{{/*
trainingbot.chart: "<chart>-<version>" for the helm.sh/chart label ("+" is not allowed there).
*/}}
{{- define "trainingbot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
trainingbot.labels: the labels of every resource: the app.kubernetes.io/* set, helm.sh/chart
and commonLabels. Takes a dict: {"context": $, "component": "operator"}.
*/}}
{{- define "trainingbot.labels" -}}
{{- $ctx := .context -}}
helm.sh/chart: {{ include "trainingbot.chart" $ctx }}
{{ include "trainingbot.selectorLabels" . }}
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: telegram-training-bot
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
{{- with $ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
trainingbot.selectorLabels: the immutable labels that select a component's pods (a Deployment's
selector, a Service's). Takes a dict: {"context": $, "component": "operator"}.
*/}}
{{- define "trainingbot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "trainingbot.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
trainingbot.annotations: a metadata "annotations:" block (indented for metadata) with
commonAnnotations merged with the given extra ones, on a new line; nothing when both are empty.
Takes a dict: {"context": $, "extra": {...}}; use it as `{{- include ... }}` after the labels.
*/}}
{{- define "trainingbot.annotations" -}}
{{- $all := merge (deepCopy (.extra | default dict)) (.context.Values.commonAnnotations | default dict) -}}
{{- with $all }}
{{ dict "annotations" . | toYaml | indent 2 }}
{{- end }}
{{- end -}}

{{/*
trainingbot.image: the image reference "[registry/]repository(:tag|@digest)"; the tag defaults
to the chart's appVersion, and a digest wins over the tag.
*/}}
{{- define "trainingbot.image" -}}
{{- $image := .Values.image -}}
{{- $repository := $image.repository -}}
{{- if $image.registry -}}
{{- $repository = printf "%s/%s" $image.registry $image.repository -}}
{{- end -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .Chart.AppVersion $image.tag | toString) -}}
{{- end -}}
{{- end -}}

{{/*
trainingbot.operator.serviceAccountName: the operator's ServiceAccount: operator.serviceAccount.name,
or the operator's full name when the chart creates it, or "default".
*/}}
{{- define "trainingbot.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (include "trainingbot.operator.fullname" .) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
trainingbot.operator.namespaces: the namespaces the operator watches when not cluster-wide, as a
JSON list: watchNamespaces, or the release namespace when that is empty.
*/}}
{{- define "trainingbot.operator.namespaces" -}}
{{- if .Values.operator.watchNamespaces -}}
{{- toJson .Values.operator.watchNamespaces -}}
{{- else -}}
{{- toJson (list .Release.Namespace) -}}
{{- end -}}
{{- end -}}

{{/*
trainingbot.operator.rules: the operator's RBAC rules as a YAML list, from files/operator-rules.yaml
(generated from trainingbot_operator/rbac.py). Takes a dict: {"context": $, "part": "namespaced" |
"namespacedMode" | "clusterWideMode"}; the last two are the cluster-scoped rules of each mode.
*/}}
{{- define "trainingbot.operator.rules" -}}
{{- $rules := .context.Files.Get "files/operator-rules.yaml" | fromYaml -}}
{{- if eq .part "namespaced" -}}
{{- toYaml $rules.namespaced -}}
{{- else -}}
{{- toYaml (index $rules.clusterScoped .part) -}}
{{- end -}}
{{- end -}}

{{/*
trainingbot.bot.namespace: the namespace of a bot from values: its own, or the release's.
Takes a dict: {"context": $, "bot": <bot>}.
*/}}
{{- define "trainingbot.bot.namespace" -}}
{{- default .context.Release.Namespace .bot.namespace -}}
{{- end -}}

{{/*
trainingbot.bot.coursesName: the name of the ConfigMap holding a bot's courses from values.
*/}}
{{- define "trainingbot.bot.coursesName" -}}
{{- printf "%s-courses" .name -}}
{{- end -}}

{{/*
trainingbot.bot.spec: a bot's TrainingBot spec as YAML: spec from values with image defaulting to
the chart's image, and content.configMapName to the courses ConfigMap when courses are given.
Takes a dict: {"context": $, "bot": <bot>}.
*/}}
{{- define "trainingbot.bot.spec" -}}
{{- $spec := deepCopy .bot.spec -}}
{{- if not $spec.image -}}
{{- $_ := set $spec "image" (include "trainingbot.image" .context) -}}
{{- end -}}
{{- if and .bot.courses (not (dig "content" "configMapName" "" $spec)) -}}
{{- $_ := set $spec "content" (dict "configMapName" (include "trainingbot.bot.coursesName" .bot)) -}}
{{- end -}}
{{- toYaml $spec -}}
{{- end -}}
