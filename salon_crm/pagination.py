"""The API's pages (`?limit=&offset=`): at most MAX_LIMIT rows, and an offset past any table
(a number too large for PostgreSQL's bigint was a 500) is simply past the end: an empty page."""

from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 200
MAX_OFFSET = 2**62  # well inside bigint


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = MAX_LIMIT

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)
