// The dashboard's REST client: every call carries the tenant's API secret; errors become
// `ApiError`s with Podium's stable `code` (see docs/rest-api.md).

export class ApiError extends Error {
  constructor(status, code, message, detail) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export class Api {
  constructor(secret, base = "/api/v1") {
    this.secret = secret;
    this.base = base;
  }

  async call(method, path, body) {
    const headers = { Authorization: `Bearer ${this.secret}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const err = data?.error || {};
      throw new ApiError(response.status, err.code || "http_error", err.message || response.statusText, err.detail);
    }
    return data;
  }

  /** A file the API serves (recordings), as an object URL; revoke it when done. */
  async objectUrl(url) {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${this.secret}` } });
    if (!response.ok) {
      const err = (await response.json().catch(() => null))?.error || {};
      throw new ApiError(response.status, err.code || "http_error", err.message || response.statusText);
    }
    return URL.createObjectURL(await response.blob());
  }

  get(path) { return this.call("GET", path); }
  post(path, body = {}) { return this.call("POST", path, body); }
  put(path, body) { return this.call("PUT", path, body); }
  patch(path, body) { return this.call("PATCH", path, body); }
  delete(path) { return this.call("DELETE", path); }

  /** GET that answers null when the server has no such feature (404 not_found on the route). */
  async optional(path) {
    try {
      return await this.get(path);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && err.code === "not_found") return null;
      throw err;
    }
  }
}
