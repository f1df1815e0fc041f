import { test, expect } from '@playwright/test';
import SwaggerParser from '@apidevtools/swagger-parser';

test('the served OpenAPI document is valid OpenAPI 3.1', async ({ request }) => {
  const res = await request.get('/v1/openapi.json');
  expect(res.status()).toBe(200);
  const doc = await res.json();
  expect(doc.openapi).toMatch(/^3\.1\./);
  // Throws, with the reason, on any violation of the OpenAPI 3.1 schema or a broken $ref.
  const api = await SwaggerParser.validate(structuredClone(doc));
  expect(Object.keys(api.paths ?? {})).toContain('/workstations');
});
