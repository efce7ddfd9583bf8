"""The OpenAPI 3.1 description of the JSON API (served at ``/api/openapi.json``).

Written by hand next to ``api.py`` rather than generated: the API is four operations, and
a test checks that every route in ``api_urls`` is described here.
"""

from __future__ import annotations

from typing import Any

from approvals import limits

_ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*statuses: int) -> dict[str, Any]:
    words = {
        400: "Invalid input (malformed JSON, wrong types, missing reason, unknown fields)",
        401: "No, invalid or revoked API token (and no session)",
        403: "Authenticated, but not allowed to decide this approval (or CSRF failed)",
        404: "No approval with this token id",
        409: "Already decided, closed or expired; or recorded but completed elsewhere",
        413: "Request body too large",
    }
    return {
        str(s): {
            "description": words[s],
            "content": {"application/json": {"schema": _ERROR}},
        }
        for s in statuses
    }


def _decide_operation(verdict: str) -> dict[str, Any]:
    body_schema = "ApproveRequest" if verdict == "approve" else "RejectRequest"
    return {
        "operationId": f"{verdict}Approval",
        "summary": f"{verdict.capitalize()} a pending approval as the authenticated caller",
        "description": (
            "Records the decision, then completes the Trigger.dev wait token and verifies it. "
            "When Trigger.dev is unreachable the decision is still saved (`delivery: pending`)"
            " and delivered later by the worker."
            + (
                " With an N-of-M policy the answer may be `delivery: awaiting_more_approvals`."
                if verdict == "approve"
                else " A reason is required."
            )
        ),
        "parameters": [
            {
                "name": "tokenId",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "example": "waitpoint_cm9xq2k1p0001abcd",
            }
        ],
        "requestBody": {
            "required": verdict == "reject",
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{body_schema}"}}
            },
        },
        "responses": {
            "200": {
                "description": "Decision recorded",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/DecideResult"}}
                },
            },
            **_errors(400, 401, 403, 404, 409, 413),
        },
    }


def description(*, server_url: str = "/api") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Trigger.dev approvals API",
            "version": "1.0.0",
            "description": (
                "Approve or reject Trigger.dev wait tokens that ask for a human decision. "
                "Authenticate with `Authorization: Bearer <API token>` (create one in the admin "
                "or with `manage.py create_api_token`), or with the dashboard session plus a "
                "CSRF token. The acting person is always the authenticated caller."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}, {"sessionAuth": []}],
        "paths": {
            "/approvals": {
                "get": {
                    "operationId": "listApprovals",
                    "summary": "Pending approvals, soonest to expire first (database only)",
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 1000,
                                "default": 100,
                            },
                        },
                        {"name": "task", "in": "query", "schema": {"type": "string"}},
                        {"name": "tag", "in": "query", "schema": {"type": "string"}},
                    ],  # fmt: skip
                    "responses": {
                        "200": {
                            "description": "Pending approvals",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ApprovalList"}
                                }
                            },
                        },
                        **_errors(400, 401),
                    },
                }
            },
            "/approvals/{tokenId}/approve": {"post": _decide_operation("approve")},
            "/approvals/{tokenId}/reject": {"post": _decide_operation("reject")},
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This description",
                    "responses": {"200": {"description": "OpenAPI 3.1 document"}},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "apr_…"},
                "sessionAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
            },
            "schemas": {
                "Approval": {
                    "type": "object",
                    "required": ["runId", "tokenId", "description", "createdAt", "expiresAt"],
                    "properties": {
                        "runId": {"type": "string"},
                        "tokenId": {"type": "string"},
                        "description": {"type": "string"},
                        "createdAt": {"type": "string", "format": "date-time"},
                        "expiresAt": {"type": ["string", "null"], "format": "date-time"},
                        "task": {"type": "string"},
                        "runStatus": {"type": "string"},
                        "requestedBy": {"type": ["string", "null"]},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "payload": {},
                        "context": {},
                        "schema": {
                            "type": ["object", "null"],
                            "description": "JSON Schema of the typed fields an approval may carry",
                        },
                        "url": {"type": "string", "description": "The dashboard's detail page"},
                    },
                },
                "ApprovalList": {
                    "type": "object",
                    "required": ["approvals"],
                    "properties": {
                        "approvals": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Approval"},
                        },
                        "hasMore": {"type": "boolean"},
                    },
                },
                "ApproveRequest": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "comments": {"type": "string", "maxLength": limits.COMMENT_MAX},
                        "fields": {
                            "type": "object",
                            "description": "Values for the token's announced schema",
                        },
                    },
                },
                "RejectRequest": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["reason"],
                    "properties": {
                        "reason": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": limits.COMMENT_MAX,
                        }
                    },
                },  # fmt: skip
                "DecideResult": {
                    "type": "object",
                    "required": ["success", "message"],
                    "properties": {
                        "success": {"type": "boolean"},
                        "message": {"type": "string"},
                        "tokenId": {"type": "string"},
                        "runId": {"type": "string"},
                        "decision": {"enum": ["approved", "rejected", None]},
                        "delivery": {
                            "enum": [
                                "delivered",
                                "pending",
                                "completed_elsewhere",
                                "token_gone",
                                "awaiting_more_approvals",
                            ]
                        },
                        "output": {
                            "type": "object",
                            "description": "The exact output the wait token receives",
                        },
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["success", "message", "code"],
                    "properties": {
                        "success": {"const": False},
                        "message": {"type": "string"},
                        "code": {"type": "string"},
                        "errors": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                            "description": "Problems by field name",
                        },
                    },
                },
            },
        },
    }
