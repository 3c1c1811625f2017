"""The hitless rule set: traffic profile, budget math, tier facts and rules.

This package lives inside the policy pack folder so that `pulumi policy publish` ships it with
the pack; the Pulumi program, the components and the CLI import the very same modules, so each
number and each formula exists once.
"""
