// The browser side of the code flow, shared by code_flow.mjs and oidc_flow.mjs: a cookie jar by
// name (loopback counts as a secure context for Secure cookies), then the hosted sign-in page
// fetched and its form submitted as a browser submits it (its cookies, the hidden fields with
// the CSRF field, an Origin header). The caller checks what came back.

export class Browser {
  jar = new Map();

  remember(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (!value || /max-age=0/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  cookie() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  // GET the authorization URL, then POST its sign-in form to ISSUER/signin; no redirect is
  // followed. Returns both responses and the callback URL (the Location of the sign-in answer).
  async signIn(authorizationUrl, issuer, email, password) {
    const page = await fetch(authorizationUrl, { redirect: "manual" });
    this.remember(page);
    const html = await page.text();
    const form = new URLSearchParams();
    for (const [, name, value] of html.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g)) {
      form.set(name, unescape(value));
    }
    form.set("email", email);
    form.set("password", password);
    const signedIn = await fetch(new URL("/signin", issuer), {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: this.cookie(),
        origin: new URL(issuer).origin,
      },
      body: form,
    });
    this.remember(signedIn);
    return { page, signedIn, callback: new URL(signedIn.headers.get("location")) };
  }
}

const unescape = (value) =>
  value.replaceAll("&quot;", '"').replaceAll("&#x27;", "'").replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">").replaceAll("&amp;", "&");
