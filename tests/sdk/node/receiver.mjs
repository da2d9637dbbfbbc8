// A webhook receiver written from Helicone's webhook doc (seed/webhooks-doc.txt), run unchanged
// against Tollgate: Node built-ins only. The body is parsed as Express's json middleware parses
// it (UTF-8 text, JSON.parse, into req.body); the signature check is the doc's verifySignature,
// verbatim; the handler fetches request_response_url and reads the prompt and the answer as the
// doc's Compliance Monitoring and Data Pipeline handlers do.
//
// Listens on 127.0.0.1, port 0; prints {"port": N}, then one JSON line per delivery:
// {valid, request_id, user_id, model, provider, metadata, prompt, response, raw (body, base64),
//  signature (the helicone-signature header), status (what it answered), error}.
import crypto from "crypto";
import http from "http";

function verifySignature(payload, signature, secret) {
  const hmac = crypto.createHmac("sha256", secret);
  hmac.update(JSON.stringify(payload));
  const calculatedSignature = hmac.digest("hex");
  return crypto.timingSafeEqual(
    Buffer.from(calculatedSignature, "hex"),
    Buffer.from(signature, "hex")
  );
}

async function handler(req, res, record) {
  const { request_id, request_response_url, user_id, metadata, model } = req.body;
  Object.assign(record, { request_id, user_id, model, provider: req.body.provider, metadata });

  // Verify webhook signature
  record.valid = verifySignature(req.body, req.headers["helicone-signature"], process.env.WEBHOOK_SECRET);
  if (!record.valid) {
    return res.status(401).json({ error: "Unauthorized" });
  }
  if (request_response_url === undefined) {
    return res.status(200).json({ message: "Verified, no data" });
  }

  // Fetch complete interaction data
  const response = await fetch(request_response_url);
  const { request, response: llmResponse } = await response.json();
  record.prompt = request.messages[0].content;
  record.response = llmResponse.choices[0].message.content;
  return res.status(200).json({ message: "Data processed" });
}

// The little of Express the handlers use: res.status(n).json(obj).
function expressResponse(res, record) {
  return {
    status(code) {
      return {
        json(obj) {
          record.status = code;
          const text = JSON.stringify(obj);
          res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
          res.end(text);
        },
      };
    },
  };
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const raw = Buffer.concat(chunks);
    const record = { raw: raw.toString("base64"), signature: req.headers["helicone-signature"] };
    const out = expressResponse(res, record);
    try {
      req.body = JSON.parse(raw.toString("utf8"));
      await handler(req, out, record);
    } catch (error) {
      record.error = String(error && error.stack || error);
      if (!res.headersSent) out.status(500).json({ error: record.error });
    }
    process.stdout.write(JSON.stringify(record) + "\n");
  });
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
