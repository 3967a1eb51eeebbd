"""One Litestar app per organisation kind: momentum, scg, unions and the forum."""
