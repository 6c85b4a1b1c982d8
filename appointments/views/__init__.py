"""HTML views of the appointments app, by area: calendar (the desk's day), actions (one
appointment), checkout (sale, receipt, void), stylist (tablet day, Today panel)."""
