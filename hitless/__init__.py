"""The hitless CLI: offline preview under Pulumi's mock runtime, and checks of existing configs."""
