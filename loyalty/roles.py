"""Default permissions of each role for loyalty (DESIGN.md, Roles: the desk takes points and
stored value at checkout; a manual adjustment or a refund is a manager's; the rules are the
owner's and the managers')."""

from accounts.models import Role

L = "loyalty."
_DESK = [L + "use_loyalty", L + "view_loyaltyaccount"]
_MANAGE = [
    *_DESK,
    L + "adjust_ledger",
    *(
        L + "view_" + m
        for m in (
            "pointsentry",
            "storedvalueentry",
            "customerpackage",
            "packageentry",
            "giftcard",
            "giftcardentry",
            "coupon",
            "membershiptier",
            "tierchange",
            "deposit",
            "depositentry",
            "feecharge",
        )
    ),
    # package plans and deposit policies are prices: the owner's and the managers' (DESIGN.md)
    *(L + p + "_packageplan" for p in ("view", "add", "change", "delete")),
    *(L + p + "_depositpolicy" for p in ("view", "add", "change", "delete")),
]

ROLE_PERMISSIONS = {
    Role.OWNER: [
        *_MANAGE,
        L + "manage_loyalty",
        L + "change_loyaltysettings",
        L + "view_loyaltysettings",
        L + "view_topuprule",
        L + "add_topuprule",
        L + "change_topuprule",
        L + "delete_topuprule",
        L + "add_membershiptier",
        L + "change_membershiptier",
        L + "delete_membershiptier",
    ],
    Role.MANAGER: _MANAGE,
    Role.RECEPTIONIST: _DESK,
}
