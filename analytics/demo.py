"""seed_demo's last step: the roll-ups of the demo history (what compute_analytics does
nightly), so the dashboards and the client cards' classes have figures at once."""

from analytics import rollups


def seed_analytics(ctx) -> None:
    result = rollups.rebuild()
    ctx.log(
        f"analytics: {result['daily']} location-days, {result['visit_days']} visit days, {result['clients']} clients"
    )
