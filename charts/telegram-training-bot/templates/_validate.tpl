{{/*
trainingbot.validateValues: fails the render with every problem in the values at once, one per
line, each saying what to change. values.schema.json checks shapes and types; this checks what
a schema cannot: values that contradict each other, and the TrainingBot rules the API server
would otherwise refuse one at a time (its CEL validations), before anything is applied.
*/}}
{{- define "trainingbot.validateValues" -}}
{{- $messages := list -}}
{{- $op := .Values.operator -}}
{{- if and $op.clusterWide $op.watchNamespaces -}}
{{- $messages = append $messages "operator.watchNamespaces must be empty when operator.clusterWide is true (a cluster-wide operator watches every namespace)" -}}
{{- end -}}
{{- if and $op.enabled (gt (int $op.replicaCount) 1) (not $op.peering.enabled) -}}
{{- $messages = append $messages (printf "operator.replicaCount is %d but operator.peering.enabled is false: replicas would act at the same time; enable peering or run one replica" (int $op.replicaCount)) -}}
{{- end -}}
{{- if and $op.enabled $op.serviceMonitor.enabled (not $op.metrics.service.enabled) -}}
{{- $messages = append $messages "operator.serviceMonitor.enabled needs operator.metrics.service.enabled: a ServiceMonitor scrapes through the Service" -}}
{{- end -}}
{{- $watched := include "trainingbot.operator.namespaces" . | fromJsonArray -}}
{{- $seen := dict -}}
{{- range $i, $bot := .Values.bots -}}
{{- $where := printf "bots[%d] (%s)" $i $bot.name -}}
{{- $ns := include "trainingbot.bot.namespace" (dict "context" $ "bot" $bot) -}}
{{- $key := printf "%s/%s" $ns $bot.name -}}
{{- if hasKey $seen $key -}}
{{- $messages = append $messages (printf "%s: another bot in namespace %s has the same name; names must be unique per namespace" $where $ns) -}}
{{- end -}}
{{- $_ := set $seen $key true -}}
{{- if and $op.enabled (not $op.clusterWide) (not (has $ns $watched)) -}}
{{- $messages = append $messages (printf "%s: namespace %s is not watched by the operator (%s); add it to operator.watchNamespaces or set operator.clusterWide" $where $ns (join ", " $watched)) -}}
{{- end -}}
{{- $spec := $bot.spec | default dict -}}
{{- $configMap := dig "content" "configMapName" "" $spec -}}
{{- if and $bot.courses $configMap -}}
{{- $messages = append $messages (printf "%s: give either courses or spec.content.configMapName, not both" $where) -}}
{{- else if not (or $bot.courses $configMap) -}}
{{- $messages = append $messages (printf "%s: no course content: give courses (files by flat name, docs/CONTENT.md) or spec.content.configMapName" $where) -}}
{{- end -}}
{{- if and (eq (default "webhook" $spec.mode) "webhook") (not (dig "telegram" "webhook" "" $spec)) -}}
{{- $messages = append $messages (printf "%s: spec.telegram.webhook (url and secretTokenSecretRef) is required in webhook mode, the default; set it or spec.mode: polling" $where) -}}
{{- end -}}
{{- $redis := $spec.redis | default dict -}}
{{- if eq (hasKey $redis "urlSecretRef") (hasKey $redis "sentinel") -}}
{{- $messages = append $messages (printf "%s: spec.redis must set exactly one of urlSecretRef and sentinel" $where) -}}
{{- end -}}
{{- if and (dig "migrations" "backup" "enabled" false $spec) (not (dig "migrations" "backup" "persistentVolumeClaimName" "" $spec)) -}}
{{- $messages = append $messages (printf "%s: spec.migrations.backup.persistentVolumeClaimName is required when the backup is enabled" $where) -}}
{{- end -}}
{{- $image := default (include "trainingbot.image" $) $spec.image -}}
{{- if hasSuffix ":latest" $image -}}
{{- $messages = append $messages (printf "%s: image %s: name a release, not :latest (the operator rolls out and back by image)" $where $image) -}}
{{- end -}}
{{- end -}}
{{- if $messages -}}
{{- printf "\n\nVALUES VALIDATION:\n  %s\n" (join "\n  " $messages) | fail -}}
{{- end -}}
{{- end -}}
