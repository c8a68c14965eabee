"""The TC3-signed cloud API (POST /): signature check, dispatch to actions, Tencent errors."""
