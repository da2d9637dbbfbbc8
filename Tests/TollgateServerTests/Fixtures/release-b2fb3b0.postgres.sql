--
-- PostgreSQL database dump
--

\restrict bhTkC8hMyD768CgljyntHOCrFVjnraHdrud8Q2NcghrdxGMyBQC1jdZ3CzkvrOI

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: release_fixture; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA release_fixture;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: bodies; Type: TABLE; Schema: release_fixture; Owner: -
--

CREATE TABLE release_fixture.bodies (
    request_id text NOT NULL,
    request bytea,
    response bytea,
    response_reconstructed bytea
);


--
-- Name: deliveries; Type: TABLE; Schema: release_fixture; Owner: -
--

CREATE TABLE release_fixture.deliveries (
    id text NOT NULL,
    webhook_id text NOT NULL,
    request_id text,
    status text NOT NULL,
    attempts bigint DEFAULT 0 NOT NULL,
    next_attempt_at bigint,
    lease_until bigint,
    created_at bigint NOT NULL,
    last_error text,
    last_status_code bigint
);


--
-- Name: delivery_attempts; Type: TABLE; Schema: release_fixture; Owner: -
--

CREATE TABLE release_fixture.delivery_attempts (
    delivery_id text NOT NULL,
    number bigint NOT NULL,
    started_at bigint NOT NULL,
    duration_ms double precision NOT NULL,
    status_code bigint,
    response_head text,
    error text
);


--
-- Name: request_properties; Type: TABLE; Schema: release_fixture; Owner: -
--

CREATE TABLE release_fixture.request_properties (
    request_id text NOT NULL,
    name text NOT NULL,
    value text NOT NULL
);


--
-- Name: request_scores; Type: TABLE; Schema: release_fixture; Owner: -
--

CREATE TABLE release_fixture.request_scores (
    request_id text NOT NULL,
    name text NOT NULL,
    value double precision NOT NULL,
    is_bool boolean NOT NULL,
    updated_at bigint NOT NULL
);


--
-- Name: requests; Type: TABLE; Schema: release_fixture; Owner: -
--

CREATE TABLE release_fixture.requests (
    id text NOT NULL,
    project text NOT NULL,
    created_at bigint NOT NULL,
    method text NOT NULL,
    path text NOT NULL,
    provider text NOT NULL,
    model text,
    status bigint NOT NULL,
    stream boolean NOT NULL,
    user_id text,
    properties text NOT NULL,
    session_id text,
    session_path text,
    session_name text,
    prompt_tokens bigint,
    completion_tokens bigint,
    total_tokens bigint,
    cache_read_tokens bigint,
    cache_write_tokens bigint,
    reasoning_tokens bigint,
    cost_usd double precision,
    latency_ms double precision NOT NULL,
    time_to_first_token_ms double precision,
    request_bytes bigint NOT NULL,
    response_bytes bigint NOT NULL,
    error text,
    response_truncated boolean DEFAULT false NOT NULL
);


--
-- Name: tollgate_migrations; Type: TABLE; Schema: release_fixture; Owner: -
--

CREATE TABLE release_fixture.tollgate_migrations (
    name text NOT NULL,
    applied_at bigint NOT NULL
);


--
-- Name: webhooks; Type: TABLE; Schema: release_fixture; Owner: -
--

CREATE TABLE release_fixture.webhooks (
    id text NOT NULL,
    project text NOT NULL,
    destination text NOT NULL,
    sample_rate double precision NOT NULL,
    include_data boolean NOT NULL,
    property_filters text NOT NULL,
    hmac_key text NOT NULL,
    previous_key text,
    previous_key_expires_at bigint,
    enabled boolean NOT NULL,
    disabled_reason text,
    failing_since bigint,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);


--
-- Data for Name: bodies; Type: TABLE DATA; Schema: release_fixture; Owner: -
--

INSERT INTO release_fixture.bodies VALUES ('1036ee23-2c42-43bc-bc70-e55877d4b690', '\x7b226d6f64656c223a20226770742d346f2d6d696e69222c20226d65737361676573223a205b7b22726f6c65223a202275736572222c2022636f6e74656e74223a20226869227d5d7d', '\x7b226964223a202263686174636d706c2d31222c20226f626a656374223a2022636861742e636f6d706c6574696f6e222c202263726561746564223a20313733333030303030302c20226d6f64656c223a20226770742d346f2d6d696e692d323032342d30372d3138222c202263686f69636573223a205b7b22696e646578223a20302c20226d657373616765223a207b22726f6c65223a2022617373697374616e74222c2022636f6e74656e74223a202248656c6c6f203c623e74686572653c2f623e227d2c202266696e6973685f726561736f6e223a202273746f70227d5d2c20227573616765223a207b2270726f6d70745f746f6b656e73223a2031322c2022636f6d706c6574696f6e5f746f6b656e73223a20332c2022746f74616c5f746f6b656e73223a2031357d7d', NULL);
INSERT INTO release_fixture.bodies VALUES ('e1e93592-f0d7-4797-b86e-42a7b18e3bce', '\x7b226d6f64656c223a20226770742d346f2d6d696e69222c202273747265616d223a20747275652c20226d65737361676573223a205b7b22726f6c65223a202275736572222c2022636f6e74656e74223a20226869227d5d7d', '\x646174613a207b226964223a226332222c226f626a656374223a22636861742e636f6d706c6574696f6e2e6368756e6b222c2263726561746564223a313733333030303030302c226d6f64656c223a226770742d346f2d6d696e692d323032342d30372d3138222c2263686f69636573223a5b7b22696e646578223a302c2264656c7461223a7b22636f6e74656e74223a224869227d2c2266696e6973685f726561736f6e223a6e756c6c7d5d7d0a0a646174613a207b226964223a226332222c226f626a656374223a22636861742e636f6d706c6574696f6e2e6368756e6b222c2263726561746564223a313733333030303030302c226d6f64656c223a226770742d346f2d6d696e692d323032342d30372d3138222c2263686f69636573223a5b5d2c227573616765223a7b2270726f6d70745f746f6b656e73223a352c22636f6d706c6574696f6e5f746f6b656e73223a312c22746f74616c5f746f6b656e73223a367d7d0a0a646174613a205b444f4e455d0a0a', '\x7b226964223a226332222c226f626a656374223a22636861742e636f6d706c6574696f6e222c2263726561746564223a313733333030303030302c226d6f64656c223a226770742d346f2d6d696e692d323032342d30372d3138222c2263686f69636573223a5b7b22696e646578223a302c226d657373616765223a7b22726f6c65223a22617373697374616e74222c22636f6e74656e74223a224869227d2c2266696e6973685f726561736f6e223a6e756c6c7d5d2c227573616765223a7b2270726f6d70745f746f6b656e73223a352c22636f6d706c6574696f6e5f746f6b656e73223a312c22746f74616c5f746f6b656e73223a367d7d');
INSERT INTO release_fixture.bodies VALUES ('2ced93ac-05c4-4f4e-a9e8-2eb0036f0a06', '\x7b226d6f64656c223a202262726f6b656e222c20226d65737361676573223a205b5d7d', '\x7b226572726f72223a7b226d657373616765223a226f7665726c6f61646564227d7d', NULL);


--
-- Data for Name: deliveries; Type: TABLE DATA; Schema: release_fixture; Owner: -
--

INSERT INTO release_fixture.deliveries VALUES ('e4da2c56-fa2f-4cef-8834-ecb39f728206', 'acbe4d8d-2760-4280-b36b-8f38aefda092', '1036ee23-2c42-43bc-bc70-e55877d4b690', 'failed', 3, NULL, NULL, 1796302266947831, 'cannot deliver to http://127.0.0.1:9: connection reset (error set): Connection refused) (errno: 111)', NULL);
INSERT INTO release_fixture.deliveries VALUES ('b5263787-d0ba-4aac-b4c1-ad6d7ec4716f', 'acbe4d8d-2760-4280-b36b-8f38aefda092', '2ced93ac-05c4-4f4e-a9e8-2eb0036f0a06', 'failed', 3, NULL, NULL, 1796302266974520, 'cannot deliver to http://127.0.0.1:9: connection reset (error set): Connection refused) (errno: 111)', NULL);
INSERT INTO release_fixture.deliveries VALUES ('c589d551-dcac-441f-9ea9-134cfa4740df', 'acbe4d8d-2760-4280-b36b-8f38aefda092', 'e1e93592-f0d7-4797-b86e-42a7b18e3bce', 'failed', 3, NULL, NULL, 1796302266974520, 'cannot deliver to http://127.0.0.1:9: connection reset (error set): Connection refused) (errno: 111)', NULL);


--
-- Data for Name: delivery_attempts; Type: TABLE DATA; Schema: release_fixture; Owner: -
--

INSERT INTO release_fixture.delivery_attempts VALUES ('e4da2c56-fa2f-4cef-8834-ecb39f728206', 1, 1796302266961881, 2.618328, NULL, NULL, 'cannot deliver to http://127.0.0.1:9: connection reset (error set): Connection refused) (errno: 111)');
INSERT INTO release_fixture.delivery_attempts VALUES ('b5263787-d0ba-4aac-b4c1-ad6d7ec4716f', 1, 1796302266987094, 1.19175, NULL, NULL, 'cannot deliver to http://127.0.0.1:9: connection reset (error set): Connection refused) (errno: 111)');
INSERT INTO release_fixture.delivery_attempts VALUES ('c589d551-dcac-441f-9ea9-134cfa4740df', 1, 1796302266986403, 2.309739, NULL, NULL, 'cannot deliver to http://127.0.0.1:9: connection reset (error set): Connection refused) (errno: 111)');
INSERT INTO release_fixture.delivery_attempts VALUES ('b5263787-d0ba-4aac-b4c1-ad6d7ec4716f', 2, 1796302267943400, 0.813798, NULL, NULL, 'cannot deliver to http://127.0.0.1:9: connection reset (error set): Connection refused) (errno: 111)');
INSERT INTO release_fixture.delivery_attempts VALUES ('c589d551-dcac-441f-9ea9-134cfa4740df', 2, 1796302267943433, 1.015668, NULL, NULL, 'cannot deliver to http://127.0.0.1:9: connection reset (error set): Connection refused) (errno: 111)');
INSERT INTO release_fixture.delivery_attempts VALUES ('e4da2c56-fa2f-4cef-8834-ecb39f728206', 2, 1796302267943451, 0.560111, NULL, NULL, 'cannot deliver to http://127.0.0.1:9: connection reset (error set): Connection refused) (errno: 111)');
INSERT INTO release_fixture.delivery_attempts VALUES ('e4da2c56-fa2f-4cef-8834-ecb39f728206', 3, 1796302268948475, 1.840202, NULL, NULL, 'cannot deliver to http://127.0.0.1:9: connection reset (error set): Connection refused) (errno: 111)');
INSERT INTO release_fixture.delivery_attempts VALUES ('b5263787-d0ba-4aac-b4c1-ad6d7ec4716f', 3, 1796302268948394, 2.723103, NULL, NULL, 'cannot deliver to http://127.0.0.1:9: connection reset (error set): Connection refused) (errno: 111)');
INSERT INTO release_fixture.delivery_attempts VALUES ('c589d551-dcac-441f-9ea9-134cfa4740df', 3, 1796302268948446, 0.9837, NULL, NULL, 'cannot deliver to http://127.0.0.1:9: connection reset (error set): Connection refused) (errno: 111)');


--
-- Data for Name: request_properties; Type: TABLE DATA; Schema: release_fixture; Owner: -
--

INSERT INTO release_fixture.request_properties VALUES ('1036ee23-2c42-43bc-bc70-e55877d4b690', 'environment', 'prod');
INSERT INTO release_fixture.request_properties VALUES ('1036ee23-2c42-43bc-bc70-e55877d4b690', 'app', 'fixture');


--
-- Data for Name: request_scores; Type: TABLE DATA; Schema: release_fixture; Owner: -
--

INSERT INTO release_fixture.request_scores VALUES ('1036ee23-2c42-43bc-bc70-e55877d4b690', 'helpful', 1, true, 1796302268468775);
INSERT INTO release_fixture.request_scores VALUES ('1036ee23-2c42-43bc-bc70-e55877d4b690', 'accuracy', 0.5, false, 1796302268468775);


--
-- Data for Name: requests; Type: TABLE DATA; Schema: release_fixture; Owner: -
--

INSERT INTO release_fixture.requests VALUES ('1036ee23-2c42-43bc-bc70-e55877d4b690', 'default', 1796302266939766, 'POST', '/v1/chat/completions', 'openai', 'gpt-4o-mini-2024-07-18', 200, false, 'alice', '{"Environment":"prod","App":"fixture"}', NULL, NULL, NULL, 12, 3, 15, 0, 0, 0, 3.6e-06, 5.477282, NULL, 73, 302, NULL, false);
INSERT INTO release_fixture.requests VALUES ('e1e93592-f0d7-4797-b86e-42a7b18e3bce', 'default', 1796302266948283, 'POST', '/v1/chat/completions', 'openai', 'gpt-4o-mini-2024-07-18', 200, true, 'bob', '{}', NULL, NULL, NULL, 5, 1, 6, 0, 0, 0, 1.35e-06, 3.631, 3.318627, 89, 376, NULL, false);
INSERT INTO release_fixture.requests VALUES ('2ced93ac-05c4-4f4e-a9e8-2eb0036f0a06', 'default', 1796302266954313, 'POST', '/v1/chat/completions', 'openai', 'broken', 529, false, NULL, '{}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 4.179976, NULL, 35, 34, NULL, false);


--
-- Data for Name: tollgate_migrations; Type: TABLE DATA; Schema: release_fixture; Owner: -
--

INSERT INTO release_fixture.tollgate_migrations VALUES ('v1-records', 1796302266832189);
INSERT INTO release_fixture.tollgate_migrations VALUES ('v2-webhooks', 1796302266841694);
INSERT INTO release_fixture.tollgate_migrations VALUES ('v3-scores', 1796302266849712);
INSERT INTO release_fixture.tollgate_migrations VALUES ('v4-response-truncated', 1796302266850882);


--
-- Data for Name: webhooks; Type: TABLE DATA; Schema: release_fixture; Owner: -
--

INSERT INTO release_fixture.webhooks VALUES ('acbe4d8d-2760-4280-b36b-8f38aefda092', 'default', 'http://127.0.0.1:9/down', 100, true, '{}', 'whk_e5e48a71bd467c449b6bd080b5ab19a36d5893a6fd050b2c', NULL, NULL, true, NULL, 1796302266961881, 1796302266934541, 1796302266934541);


--
-- Name: bodies bodies_pkey; Type: CONSTRAINT; Schema: release_fixture; Owner: -
--

ALTER TABLE ONLY release_fixture.bodies
    ADD CONSTRAINT bodies_pkey PRIMARY KEY (request_id);


--
-- Name: deliveries deliveries_pkey; Type: CONSTRAINT; Schema: release_fixture; Owner: -
--

ALTER TABLE ONLY release_fixture.deliveries
    ADD CONSTRAINT deliveries_pkey PRIMARY KEY (id);


--
-- Name: delivery_attempts delivery_attempts_pkey; Type: CONSTRAINT; Schema: release_fixture; Owner: -
--

ALTER TABLE ONLY release_fixture.delivery_attempts
    ADD CONSTRAINT delivery_attempts_pkey PRIMARY KEY (delivery_id, number);


--
-- Name: request_properties request_properties_pkey; Type: CONSTRAINT; Schema: release_fixture; Owner: -
--

ALTER TABLE ONLY release_fixture.request_properties
    ADD CONSTRAINT request_properties_pkey PRIMARY KEY (request_id, name);


--
-- Name: request_scores request_scores_pkey; Type: CONSTRAINT; Schema: release_fixture; Owner: -
--

ALTER TABLE ONLY release_fixture.request_scores
    ADD CONSTRAINT request_scores_pkey PRIMARY KEY (request_id, name);


--
-- Name: requests requests_pkey; Type: CONSTRAINT; Schema: release_fixture; Owner: -
--

ALTER TABLE ONLY release_fixture.requests
    ADD CONSTRAINT requests_pkey PRIMARY KEY (id);


--
-- Name: tollgate_migrations tollgate_migrations_pkey; Type: CONSTRAINT; Schema: release_fixture; Owner: -
--

ALTER TABLE ONLY release_fixture.tollgate_migrations
    ADD CONSTRAINT tollgate_migrations_pkey PRIMARY KEY (name);


--
-- Name: webhooks webhooks_pkey; Type: CONSTRAINT; Schema: release_fixture; Owner: -
--

ALTER TABLE ONLY release_fixture.webhooks
    ADD CONSTRAINT webhooks_pkey PRIMARY KEY (id);


--
-- Name: deliveries_due; Type: INDEX; Schema: release_fixture; Owner: -
--

CREATE INDEX deliveries_due ON release_fixture.deliveries USING btree (status, next_attempt_at);


--
-- Name: deliveries_webhook; Type: INDEX; Schema: release_fixture; Owner: -
--

CREATE INDEX deliveries_webhook ON release_fixture.deliveries USING btree (webhook_id, created_at DESC);


--
-- Name: request_properties_name_value; Type: INDEX; Schema: release_fixture; Owner: -
--

CREATE INDEX request_properties_name_value ON release_fixture.request_properties USING btree (name, value);


--
-- Name: request_scores_name_value; Type: INDEX; Schema: release_fixture; Owner: -
--

CREATE INDEX request_scores_name_value ON release_fixture.request_scores USING btree (name, value);


--
-- Name: requests_created; Type: INDEX; Schema: release_fixture; Owner: -
--

CREATE INDEX requests_created ON release_fixture.requests USING btree (created_at DESC, id DESC);


--
-- Name: requests_model; Type: INDEX; Schema: release_fixture; Owner: -
--

CREATE INDEX requests_model ON release_fixture.requests USING btree (model, created_at DESC);


--
-- Name: requests_project_created; Type: INDEX; Schema: release_fixture; Owner: -
--

CREATE INDEX requests_project_created ON release_fixture.requests USING btree (project, created_at DESC, id DESC);


--
-- Name: requests_user; Type: INDEX; Schema: release_fixture; Owner: -
--

CREATE INDEX requests_user ON release_fixture.requests USING btree (user_id, created_at DESC);


--
-- Name: webhooks_project; Type: INDEX; Schema: release_fixture; Owner: -
--

CREATE INDEX webhooks_project ON release_fixture.webhooks USING btree (project);


--
-- Name: bodies bodies_request_id_fkey; Type: FK CONSTRAINT; Schema: release_fixture; Owner: -
--

ALTER TABLE ONLY release_fixture.bodies
    ADD CONSTRAINT bodies_request_id_fkey FOREIGN KEY (request_id) REFERENCES release_fixture.requests(id) ON DELETE CASCADE;


--
-- Name: delivery_attempts delivery_attempts_delivery_id_fkey; Type: FK CONSTRAINT; Schema: release_fixture; Owner: -
--

ALTER TABLE ONLY release_fixture.delivery_attempts
    ADD CONSTRAINT delivery_attempts_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES release_fixture.deliveries(id) ON DELETE CASCADE;


--
-- Name: request_properties request_properties_request_id_fkey; Type: FK CONSTRAINT; Schema: release_fixture; Owner: -
--

ALTER TABLE ONLY release_fixture.request_properties
    ADD CONSTRAINT request_properties_request_id_fkey FOREIGN KEY (request_id) REFERENCES release_fixture.requests(id) ON DELETE CASCADE;


--
-- Name: request_scores request_scores_request_id_fkey; Type: FK CONSTRAINT; Schema: release_fixture; Owner: -
--

ALTER TABLE ONLY release_fixture.request_scores
    ADD CONSTRAINT request_scores_request_id_fkey FOREIGN KEY (request_id) REFERENCES release_fixture.requests(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict bhTkC8hMyD768CgljyntHOCrFVjnraHdrud8Q2NcghrdxGMyBQC1jdZ3CzkvrOI

