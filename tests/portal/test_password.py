"""Password change and reset by email."""
import re

import pytest
from django.core import mail

from tests.factories import PASSWORD

NEW = "another-unusual-passphrase-77"


@pytest.mark.django_db
def test_change_password(client_for, viewer_user):
    client = client_for(viewer_user)
    response = client.post("/accounts/password/change/", {
        "old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302
    viewer_user.refresh_from_db()
    assert viewer_user.check_password(NEW)


@pytest.mark.django_db
def test_change_password_needs_the_old_one(client_for, viewer_user):
    response = client_for(viewer_user).post("/accounts/password/change/", {
        "old_password": "wrong", "new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    viewer_user.refresh_from_db()
    assert viewer_user.check_password(PASSWORD)


@pytest.mark.django_db
def test_reset_by_email_link_sets_a_new_password_once(client, staff_user):
    response = client.post("/accounts/password/reset/", {"email": staff_user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [staff_user.email]
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302
    staff_user.refresh_from_db()
    assert staff_user.check_password(NEW)
    again = client.get(link, follow=True).content.decode()
    assert "This link is not valid any more" in again


@pytest.mark.django_db
def test_reset_for_an_unknown_email_says_the_same_and_sends_nothing(client):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"}, follow=True)
    assert "Check your email" in response.content.decode()
    assert not mail.outbox
