"""One HTTP client for the tests' own calls: httpx.get/post build a client per call, which costs
about 35 ms (its TLS context), enough to make a few hundred calls slow."""
import httpx

HTTP = httpx.Client(timeout=30)
