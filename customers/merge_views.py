"""The manager-only merge page: pick the two clients, see what would move, confirm."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer
from customers.privacy import display_phone
from customers.search_views import customer_card_url
from customers.services.merge import customer_merge, merge_preview
from salon_crm.errors import Conflict


class MergeForm(forms.Form):
    keep = forms.IntegerField(label=gettext_lazy("Client to keep (client number)"), min_value=1)
    merge = forms.IntegerField(label=gettext_lazy("Duplicate to merge into it (client number)"), min_value=1)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        found = Customer.objects.active().in_bulk([data["keep"], data["merge"]])
        for field in ("keep", "merge"):
            if data[field] not in found:
                self.add_error(field, _("No client with this number."))
        if data["keep"] == data["merge"]:
            self.add_error("merge", _("Choose two different clients."))
        if not self.errors:
            data["keep_customer"], data["merge_customer"] = found[data["keep"]], found[data["merge"]]
        return data


def _summary(user, customer: Customer) -> dict:
    return {
        "customer": customer,
        "phone": display_phone(user, customer.phone),
        "url": customer_card_url(customer.pk),
    }


@login_required
@permission_required("customers.merge_customer", raise_exception=True)
def customer_merge_view(request: HttpRequest) -> HttpResponse:
    """GET ?keep=&merge= previews; POST with confirm merges (customers.services.customer_merge)."""
    data = request.POST if request.method == "POST" else (request.GET if "keep" in request.GET else None)
    form = MergeForm(data)
    context: dict = {"form": form}
    if data is not None and form.is_valid():
        keep, merge = form.cleaned_data["keep_customer"], form.cleaned_data["merge_customer"]
        if request.method == "POST" and request.POST.get("confirm"):
            try:
                record = customer_merge(keep=keep, merge=merge, by=request.user)
            except (ValidationError, Conflict) as exc:
                form.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))
            else:
                messages.success(
                    request,
                    _("%(merged)s (#%(pk)s) was merged into %(kept)s.")
                    % {"merged": record.merged_name, "pk": record.merged_pk, "kept": keep.name},
                )
                return redirect(customer_card_url(keep.pk))
        context.update(
            keep=_summary(request.user, keep),
            merge=_summary(request.user, merge),
            preview=sorted(merge_preview(keep=keep, merge=merge).items()),
        )
    return render(request, "customers/merge.html", context)
