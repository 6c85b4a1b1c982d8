"""Default permissions of each role for analytics (DESIGN.md, Roles: dashboards and campaigns
are the managers' and the owners'). Reading a campaign needs accounts.view_dashboards; making,
changing and launching one needs analytics.change_campaign."""

from accounts.models import Role

_CAMPAIGNS = ["analytics.view_campaign", "analytics.add_campaign", "analytics.change_campaign"]

ROLE_PERMISSIONS = {
    Role.OWNER: _CAMPAIGNS,
    Role.MANAGER: _CAMPAIGNS,
}
