"""The hitless component package's plugin: serves `hitless.package`'s components to Pulumi.

Pulumi starts it with the engine's address as argument when a program that added the package
(`pulumi package add`) previews or deploys a hitless component, or asks for its schema.
"""

from hitless.package import serve

serve()
