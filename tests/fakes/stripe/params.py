"""Request parameters as Stripe reads them: form-encoded nested params (``a[b][0][c]=v``)
back into objects and lists, and the checks of a Checkout Session's create request."""

import re
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.stripe.errors import ApiError
from tests.fakes.stripe.objects import JsonObject

# Stripe's minimum charge amounts for a few currencies (minor units).
MINIMUM_AMOUNTS: Final = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "chf": 50}
SESSION_CREATE_PARAMS: Final = frozenset(
    {
        "mode",
        "line_items",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "metadata",
        "customer_email",
        "expires_at",
        "expand",
        "locale",
        "submit_type",
        "payment_intent_data",
    }
)
_FORM_KEY = re.compile(r"^(?P<head>[^\[\]]+)(?P<rest>(?:\[[^\[\]]*\])*)$")


def parse_form(body: bytes) -> JsonObject:
    """Stripe's form encoding (``a[b][0][c]=v``) back into nested objects and lists."""
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise ApiError(400, "Invalid request body: not UTF-8.") from exc
    root: JsonObject = {}
    for key, value in pairs:
        match = _FORM_KEY.match(key)
        if match is None:
            raise ApiError(400, f"Invalid parameter name: {key}", param=key)
        path = [match["head"], *re.findall(r"\[([^\[\]]*)\]", match["rest"])]
        node = root
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ApiError(400, f"Invalid object: {key}", param=key)
            node = child
        if path[-1] in node:
            raise ApiError(400, f"Received the parameter {key} twice.", param=key)
        node[path[-1]] = value
    return _lists(root)


def _lists(node: JsonObject) -> JsonObject:
    """Turn ``{"0": ..., "1": ...}`` into lists, as Stripe reads indexed keys."""
    converted: JsonObject = {}
    for key, value in node.items():
        if isinstance(value, dict):
            value = _lists(value)
            if value and all(index.isdigit() for index in value):
                indices = sorted(int(index) for index in value)
                if indices != list(range(len(indices))):
                    raise ApiError(400, f"Invalid array: {key}", param=key)
                value = [value[str(index)] for index in indices]
        converted[key] = value
    return converted


def validated_session_params(params: JsonObject) -> JsonObject:
    """The session fields of a valid ``mode=payment`` create request; ``ApiError`` otherwise."""
    for name in params:
        if name not in SESSION_CREATE_PARAMS:
            raise ApiError(400, f"Received unknown parameter: {name}", param=name)
    mode = params.get("mode")
    if mode is None:
        raise ApiError(400, "Missing required param: mode.", param="mode")
    if mode != "payment":
        raise ApiError(400, "This fake supports mode=payment only.", param="mode")
    line_items = params.get("line_items")
    if not isinstance(line_items, list) or not line_items:
        raise ApiError(
            400,
            "You must provide at least one line item in `payment` mode.",
            param="line_items",
        )
    amounts = [_line_item_amount(index, item) for index, item in enumerate(line_items)]
    currencies = {currency for _, currency in amounts}
    if len(currencies) > 1:
        raise ApiError(400, "All line items must use the same currency.", param="line_items")
    currency = currencies.pop()
    amount_total = sum(amount for amount, _ in amounts)
    minimum = MINIMUM_AMOUNTS.get(currency, 1)
    if amount_total < minimum:
        raise ApiError(
            400,
            "The Checkout Session's total amount due must add up to at least "
            f"{minimum} {currency} (minor units).",
            param="line_items",
        )
    metadata = _metadata(params.get("metadata", {}))
    client_reference_id = _string(params, "client_reference_id", max_length=200)
    customer_email = _string(params, "customer_email", max_length=512)
    if customer_email is not None and "@" not in customer_email:
        raise ApiError(400, f"Invalid email address: {customer_email}", param="customer_email")
    urls = {name: _url(params, name) for name in ("success_url", "cancel_url")}
    return {
        "amount_total": amount_total,
        "currency": currency,
        "client_reference_id": client_reference_id,
        "metadata": metadata,
        "customer_email": customer_email,
        **urls,
    }


def _line_item_amount(index: int, item: Any) -> tuple[int, str]:
    prefix = f"line_items[{index}]"
    if not isinstance(item, dict):
        raise ApiError(400, f"Invalid object: {prefix}", param=prefix)
    if "price" in item:
        raise ApiError(
            404,
            f"No such price: '{item['price']}'",
            param=f"{prefix}[price]",
            code="resource_missing",
        )
    quantity = _integer(item, "quantity", prefix, minimum=1)
    price_data = item.get("price_data")
    if not isinstance(price_data, dict):
        raise ApiError(
            400,
            f"Missing required param: {prefix}[price_data].",
            param=f"{prefix}[price_data]",
        )
    prefix = f"{prefix}[price_data]"
    currency = price_data.get("currency")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise ApiError(400, f"Invalid currency: {currency}", param=f"{prefix}[currency]")
    unit_amount = _integer(price_data, "unit_amount", prefix, minimum=0)
    product_data = price_data.get("product_data")
    name = product_data.get("name") if isinstance(product_data, dict) else None
    if not isinstance(name, str) or not name:
        raise ApiError(
            400,
            f"Missing required param: {prefix}[product_data][name].",
            param=f"{prefix}[product_data][name]",
        )
    return unit_amount * quantity, currency.lower()


def _integer(container: JsonObject, name: str, prefix: str, *, minimum: int) -> int:
    param = f"{prefix}[{name}]"
    raw = container.get(name)
    if raw is None:
        raise ApiError(400, f"Missing required param: {param}.", param=param)
    if not isinstance(raw, str) or not re.fullmatch(r"-?\d+", raw):
        raise ApiError(400, f"Invalid integer: {raw}", param=param)
    value = int(raw)
    if value < minimum:
        raise ApiError(400, f"This value must be greater than or equal to {minimum}.", param=param)
    return value


def _metadata(raw: Any) -> dict[str, str]:
    if raw == "":  # `metadata=` clears it
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ApiError(400, "Invalid object", param="metadata")
    if len(raw) > 50:
        raise ApiError(400, "You can have at most 50 metadata keys.", param="metadata")
    for key, value in raw.items():
        if len(key) > 40:
            raise ApiError(
                400, f"Metadata keys can have up to 40 characters: {key}", param="metadata"
            )
        if len(value) > 500:
            raise ApiError(
                400,
                f"Metadata values can have up to 500 characters, but you passed in a value "
                f"that is {len(value)} characters.",
                param=f"metadata[{key}]",
            )
    return dict(raw)


def _string(params: JsonObject, name: str, *, max_length: int) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise ApiError(
            400, f"Invalid string: {name} has at most {max_length} characters.", param=name
        )
    return value


def _url(params: JsonObject, name: str) -> str | None:
    value = _string(params, name, max_length=5000)
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ApiError(400, "Not a valid URL", param=name)
    return value
