"""Deployment: the container image, compose, Kubernetes manifests, and nginx in front of replicas on this machine."""
