"""Provision a GitOps progressive-delivery platform (k3d, Flux, Istio, Flagger) per Pulumi stack."""
