//! One smoke test per server: the harness starts it and the real client
//! crate shoal uses talks to it.

use std::time::Duration;

use futures::StreamExt as _;
use shoal_testkit::{NatsServer, Postgres, S3Server};

#[tokio::test]
async fn nats_jetstream_create_publish_pull() {
    let server = NatsServer::start().expect("nats-server");
    let client = async_nats::connect(server.url()).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    let stream = js
        .create_stream(async_nats::jetstream::stream::Config {
            name: "SMOKE".into(),
            subjects: vec!["smoke.>".into()],
            retention: async_nats::jetstream::stream::RetentionPolicy::WorkQueue,
            ..Default::default()
        })
        .await
        .expect("create stream");
    for i in 0..3 {
        js.publish(format!("smoke.{i}"), format!("hello {i}").into())
            .await
            .expect("publish")
            .await
            .expect("publish ack");
    }
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some("smoke".into()),
            ..Default::default()
        })
        .await
        .expect("create consumer");
    let mut messages = consumer
        .fetch()
        .max_messages(3)
        .messages()
        .await
        .expect("fetch");
    let mut got = Vec::new();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(5), messages.next())
        .await
        .expect("message in time")
    {
        let message = message.expect("message");
        got.push(String::from_utf8(message.payload.to_vec()).expect("utf8"));
        message.double_ack().await.expect("ack");
    }
    assert_eq!(got, ["hello 0", "hello 1", "hello 2"]);
    // WorkQueue retention: acked messages are gone.
    let info = js
        .get_stream("SMOKE")
        .await
        .expect("stream")
        .info()
        .await
        .expect("info")
        .clone();
    assert_eq!(info.state.messages, 0);
}

#[tokio::test]
async fn postgres_create_insert_select() {
    let server = Postgres::start().expect("postgres");
    let (client, connection) = tokio_postgres::connect(&server.conninfo(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    let conn = tokio::spawn(connection);
    client
        .batch_execute("CREATE TABLE smoke (id bigint PRIMARY KEY, note text NOT NULL)")
        .await
        .expect("create table");
    for (id, note) in [(1i64, "one"), (2, "two")] {
        client
            .execute(
                "INSERT INTO smoke (id, note) VALUES ($1, $2)",
                &[&id, &note],
            )
            .await
            .expect("insert");
    }
    let rows = client
        .query("SELECT id, note FROM smoke ORDER BY id", &[])
        .await
        .expect("select");
    let got: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, [(1, "one".to_owned()), (2, "two".to_owned())]);
    drop(client);
    conn.await.expect("join").expect("connection");
}

#[tokio::test]
async fn s3_put_list_ranged_get() {
    let server = S3Server::start().expect("s3 server");
    let config = aws_sdk_s3::Config::builder()
        .endpoint_url(server.endpoint())
        .region(aws_sdk_s3::config::Region::new(S3Server::REGION))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            S3Server::ACCESS_KEY,
            S3Server::SECRET_KEY,
            None,
            None,
            "shoal-test",
        ))
        .force_path_style(true)
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(config);
    s3.create_bucket()
        .bucket("smoke")
        .send()
        .await
        .expect("create bucket");
    for key in ["a/one.txt", "a/two.txt", "b/three.txt"] {
        s3.put_object()
            .bucket("smoke")
            .key(key)
            .body(format!("contents of {key}").into_bytes().into())
            .send()
            .await
            .expect("put");
    }
    let listed = s3
        .list_objects_v2()
        .bucket("smoke")
        .prefix("a/")
        .send()
        .await
        .expect("list");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["a/one.txt", "a/two.txt"]);
    let got = s3
        .get_object()
        .bucket("smoke")
        .key("b/three.txt")
        .range("bytes=12-16")
        .send()
        .await
        .expect("ranged get");
    let body = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"b/thr");
}
