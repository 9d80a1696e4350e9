"""Field references in ImageUpdateAutomation commit message templates (image.toolkit.fluxcd.io/v1)."""

import pytest

from progressive_delivery.check.gotemplate import template_problems

DOCUMENTED = """Automated image update

Automation name: {{ .AutomationObject }}

Files:
{{ range $filename, $_ := .Changed.FileChanges -}}
- {{ $filename }}
{{ end -}}

Objects:
{{ range $resource, $changes := .Changed.Objects -}}
- {{ $resource.Kind | lower }} {{ $resource.Name | lower }}
  Changes:
{{- range $_, $change := $changes }}
    - {{ $change.OldValue }} -> {{ $change.NewValue }}
{{ end -}}
{{ end -}}
"""


@pytest.mark.parametrize("template", [
    DOCUMENTED,
    "{{ range .Changed.Changes }}{{ .OldValue }} -> {{ .NewValue }} ({{ .Setter }}){{ end }}",
    "Update for {{ .Values.cluster }} by {{ .AutomationObject.Namespace }}/{{ $.AutomationObject.Name }}",
    "{{ with .Changed }}{{ range .Changes }}{{ .NewValue }}{{ end }}{{ end }}",
    "{{ if .Changed.Changes }}{{ len .Changed.Changes }} changes{{ else }}none{{ end }}",
    "{{/* a comment */}}{{ $n := .AutomationObject.Name }}{{ $n }}",
    "plain text, no actions",
])
def test_valid_templates(template):
    assert template_problems(template) == []


@pytest.mark.parametrize("template, fragment", [
    ("{{ range .Updated.Images }}{{ . }}{{ end }}", ".Updated was removed"),
    ("{{ .Updated }}", ".Updated was removed"),
    ("{{ range .Changed.Changes }}{{ .NewTag }}{{ end }}", "Change has no field NewTag"),
    ("{{ .Changed.ObjectChanges }}", "Result has no field ObjectChanges"),
    ("{{ .AutomationObject.Kind }}", "AutomationObject has no field Kind"),
    ("{{ .Changed.Changes.NewValue }}", "cannot be read from a list"),
    ("{{ range $r, $c := .Changed.Objects }}{{ $r.Image }}{{ end }}", "ObjectIdentifier has no field Image"),
    ("{{ range .Changed.Changes }}{{ .NewValue }}", "not closed"),
    ("{{ $missing.Name }}", "variable $missing is not defined"),
])
def test_invalid_templates(template, fragment):
    problems = template_problems(template)
    assert any(fragment in p for p in problems), problems
