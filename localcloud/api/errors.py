"""Tencent Cloud API error codes, raised by actions and rendered as error answers."""


class CloudError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def missing(name: str) -> CloudError:
    return CloudError("MissingParameter", f"The request is missing a required parameter `{name}`.")


def invalid(name: str, why: str) -> CloudError:
    return CloudError("InvalidParameter", f"The parameter `{name}` {why}.")


def invalid_value(name: str, why: str) -> CloudError:
    return CloudError("InvalidParameterValue", f"The value of parameter `{name}` {why}.")


def not_found(what: str) -> CloudError:
    return CloudError("ResourceNotFound", f"{what} does not exist.")


def unsupported(why: str) -> CloudError:
    return CloudError("UnsupportedOperation", why)
