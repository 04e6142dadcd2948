import streamlit as st

st.title("loss_lab")
st.info("This page is being built.")
