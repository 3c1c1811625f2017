"""Pulumi components of the hitless chain: one ComponentResource per tier, and the config model."""
