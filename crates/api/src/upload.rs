//! Reading uploads: a `multipart/form-data` form (the fields of a post or an upload) or a
//! raw body, each capped at the media limit while it streams in, so an oversized upload is
//! refused (413) as soon as it passes the limit instead of after it was buffered.

use axum::body::Body;
use axum::extract::Multipart;
use axum::http::{header, HeaderMap};
use bytes::{Bytes, BytesMut};
use futures::TryStreamExt;
use roost_service::ServiceError;

use crate::error::{ApiError, ApiResult};

/// Whether the request's body is a multipart form.
pub(crate) fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// The fields of a post or upload form; others are ignored.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Form {
    pub(crate) text: Option<String>,
    pub(crate) reply_to: Option<String>,
    pub(crate) file: Option<Bytes>,
}

/// Reads a form whose `file` may be at most `limit` bytes (else `too_large()`, a 413).
pub(crate) async fn read_form(
    form: &mut Multipart,
    limit: usize,
    too_large: impl Fn() -> ServiceError,
) -> ApiResult<Form> {
    let mut out = Form::default();
    while let Some(mut field) =
        form.next_field().await.map_err(|e| ApiError::body_rejected(e.status(), e.body_text()))?
    {
        match field.name().unwrap_or_default() {
            "file" => {
                let mut buf = BytesMut::new();
                while let Some(chunk) =
                    field.chunk().await.map_err(|e| ApiError::body_rejected(e.status(), e.body_text()))?
                {
                    if buf.len() + chunk.len() > limit {
                        return Err(too_large().into());
                    }
                    buf.extend_from_slice(&chunk);
                }
                out.file = Some(buf.freeze());
            }
            "text" => {
                out.text =
                    Some(field.text().await.map_err(|e| ApiError::body_rejected(e.status(), e.body_text()))?)
            }
            "reply_to" => {
                out.reply_to =
                    Some(field.text().await.map_err(|e| ApiError::body_rejected(e.status(), e.body_text()))?)
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Reads a raw body of at most `limit` bytes (else `too_large()`, a 413).
pub(crate) async fn read_limited(
    body: Body,
    limit: usize,
    too_large: impl Fn() -> ServiceError,
) -> ApiResult<Bytes> {
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.try_next().await.map_err(|e| ApiError::bad_request(e.to_string()))? {
        if buf.len() + chunk.len() > limit {
            return Err(too_large().into());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use axum::extract::{FromRequest, Request};
    use axum::response::IntoResponse;
    use proptest::prelude::*;

    use super::*;

    /// Long and odd enough that no generated content contains it by chance.
    const BOUNDARY: &str = "roost-test-boundary-7d1f0c";
    const LIMIT: usize = 1024;

    fn too_large() -> ServiceError {
        ServiceError::TooLarge("over the limit".into())
    }

    /// Parses `body` as a form with [`BOUNDARY`], as the upload handlers do.
    fn parse(body: Vec<u8>) -> ApiResult<Form> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let request = Request::builder()
                .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
                .body(Body::from(body))
                .unwrap();
            let mut form = Multipart::from_request(request, &())
                .await
                .map_err(|e| ApiError::body_rejected(e.status(), e.body_text()))?;
            read_form(&mut form, LIMIT, too_large).await
        })
    }

    fn part(name: &str, content: &[u8]) -> Vec<u8> {
        let head = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n");
        [head.as_bytes(), content, b"\r\n"].concat()
    }

    fn status(result: ApiResult<Form>) -> u16 {
        match result {
            Ok(_) => 200,
            Err(err) => err.into_response().status().as_u16(),
        }
    }

    proptest! {
        /// Whatever the body: a form, a 400 or a 413, never a panic or a server error.
        #[test]
        fn any_body_is_a_form_or_a_client_error(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            prop_assert!(matches!(status(parse(body)), 200 | 400 | 413));
        }

        /// The same, for bodies that look like forms: real parts, then damage.
        #[test]
        fn a_damaged_form_is_a_form_or_a_client_error(
            text in ".{0,40}",
            file in proptest::collection::vec(any::<u8>(), 0..64),
            cut in any::<prop::sample::Index>(),
            junk in proptest::collection::vec(any::<u8>(), 0..32),
        ) {
            let mut body = [part("text", text.as_bytes()), part("file", &file)].concat();
            body.truncate(cut.index(body.len() + 1));
            body.extend_from_slice(&junk);
            prop_assert!(matches!(status(parse(body)), 200 | 400 | 413));
        }

        /// A well-formed form gives back exactly its fields, other fields ignored; a file
        /// over the limit is a 413.
        #[test]
        fn a_form_round_trips(
            text in proptest::option::of(".{0,100}"),
            reply_to in proptest::option::of("[0-9A-Z]{26}"),
            file in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..LIMIT + 64)),
            other in proptest::option::of(".{0,20}"),
        ) {
            let mut body = Vec::new();
            if let Some(other) = &other {
                body.extend(part("other", other.as_bytes()));
            }
            if let Some(text) = &text {
                body.extend(part("text", text.as_bytes()));
            }
            if let Some(reply_to) = &reply_to {
                body.extend(part("reply_to", reply_to.as_bytes()));
            }
            if let Some(file) = &file {
                body.extend(part("file", file));
            }
            body.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
            let parsed = parse(body);
            if file.as_ref().is_some_and(|f| f.len() > LIMIT) {
                prop_assert_eq!(status(parsed), 413);
            } else {
                // A text field is decoded as UTF-8 the way browsers send it: a leading byte
                // order mark is no part of the text.
                let text = text.map(|t| t.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(t));
                let expected = Form { text, reply_to, file: file.map(Bytes::from) };
                prop_assert_eq!(parsed.unwrap(), expected);
            }
        }
    }
}
